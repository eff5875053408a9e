/* v4.c: one AVX-512F instruction on zmm registers. Built with gcc -O2 -march=x86-64-v4.
   Written for kdoctor's QEMU measurement. */
#include <stdio.h>
int main(void) {
  __asm__ volatile("vpxord %%zmm1,%%zmm1,%%zmm1\n\tvpaddd %%zmm1,%%zmm1,%%zmm1" ::: "xmm1");
  puts("v4 ok");
  return 0;
}
