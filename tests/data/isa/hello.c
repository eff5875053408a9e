/* hello.c: a trivial program; built with -march=x86-64-vN -mneeded it carries the ELF
   .note.gnu.property "x86 ISA needed: x86-64-vN" marker that glibc's loader (>= 2.33) checks before main.
   Written for kdoctor's QEMU measurement and for the images tests' ISA-note image. */
#include <stdio.h>
int main(void) {
  puts("hello ok");
  return 0;
}
