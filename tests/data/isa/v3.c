/* v3.c: executes x86-64-v3 instructions (AVX2, BMI1, BMI2, LZCNT, MOVBE, FMA).
   Built with gcc -O2 -march=x86-64-v3. Written for kdoctor's QEMU measurement. */
#include <stdio.h>
int main(void) {
  unsigned long a = 0x1234, b = 0xff00, r = 0;
  __asm__ volatile("vpxor %%ymm1,%%ymm1,%%ymm1\n\tvpaddd %%ymm1,%%ymm1,%%ymm1" ::: "xmm1");
  __asm__ volatile("andn %2,%1,%0" : "=r"(r) : "r"(a), "r"(b));
  __asm__ volatile("pdep %2,%1,%0" : "=r"(r) : "r"(a), "r"(b));
  __asm__ volatile("lzcnt %1,%0" : "=r"(r) : "r"(a));
  __asm__ volatile("movbe %1,%0" : "=r"(r) : "m"(a));
  __asm__ volatile("vfmadd231ps %%ymm1,%%ymm1,%%ymm1" ::: "xmm1");
  printf("v3 ok %lu\n", r);
  return 0;
}
