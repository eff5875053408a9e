/* avx.c: one AVX (VEX.256) instruction, as MongoDB 5+ or TensorFlow builds execute at start.
   Built with plain gcc -O2 (the instruction is explicit). Written for kdoctor's QEMU measurement. */
#include <stdio.h>
int main(void) {
  __asm__ volatile("vxorps %%ymm0,%%ymm0,%%ymm0" ::: "xmm0");
  puts("avx ok");
  return 0;
}
