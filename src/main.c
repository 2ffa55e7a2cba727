/* ltvd entry point: dispatches to the sub-commands. */
#include <stdio.h>

int main(void)
{
    fputs("usage: ltvd fit|score ...\n", stderr);
    return 2;
}
