/* v2.c: executes x86-64-v2 instructions (POPCNT, SSE4.2 CRC32 and PCMPISTRI, SSE4.1 PMULLD).
   Built with gcc -O2 -march=x86-64-v2. Written for kdoctor's QEMU measurement (tests/test_qemu_truth.py). */
#include <stdio.h>
int main(void) {
  unsigned long x = 0xF0F0F0F0F0F0F0F0ul, r;
  unsigned crc = 0;
  int idx;
  __asm__ volatile("popcnt %1,%0" : "=r"(r) : "r"(x));
  __asm__ volatile("crc32q %1,%q0" : "+r"(crc) : "r"(x));
  __asm__ volatile("pxor %%xmm0,%%xmm0\n\tpcmpistri $0,%%xmm0,%%xmm0\n\tmov %%ecx,%0" : "=r"(idx)::"ecx", "xmm0", "cc");
  __asm__ volatile("pmulld %%xmm1,%%xmm1" ::: "xmm1");
  printf("v2 ok %lu %#x %d\n", r, crc, idx);
  return 0;
}
