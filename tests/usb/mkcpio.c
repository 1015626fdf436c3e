/*
 * Writes a newc cpio archive (an initramfs) to stdout from a list on stdin,
 * one entry a line: "DEST SRC" copies a file (symlinks followed), "DEST -"
 * makes a directory. Parent directories must be listed first. No cpio
 * binary is installed on the machines that build this.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static unsigned long ino = 1;

static void
pad4(unsigned long n)
{
	while (n++ % 4)
		putchar(0);
}

static void
header(const char *name, unsigned mode, unsigned long size)
{
	unsigned long namesize = strlen(name) + 1;

	printf("070701%08lX%08X%08X%08X%08X%08X%08lX%08X%08X%08X%08X%08lX%08X", ino++, mode, 0u,
	    0u, 1u, 0u, size, 0u, 0u, 0u, 0u, namesize, 0u);
	fwrite(name, 1, namesize, stdout);
	pad4(110 + namesize);
}

int
main(void)
{
	char line[8192], *dest, *src;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		dest = strtok(line, " ");
		src = strtok(NULL, " ");
		if (dest == NULL || src == NULL)
			continue;
		while (*dest == '/')
			dest++;
		if (strcmp(src, "-") == 0) {
			header(dest, 040755, 0);
			continue;
		}
		{
			FILE *f = fopen(src, "rb");
			struct stat st;
			char *buf;
			if (f == NULL || fstat(fileno(f), &st) != 0) {
				fprintf(stderr, "mkcpio: %s: cannot read\n", src);
				return 1;
			}
			buf = malloc((size_t)st.st_size + 1);
			if (buf == NULL || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
				fprintf(stderr, "mkcpio: %s: short read\n", src);
				return 1;
			}
			fclose(f);
			header(dest, 0100000u | (st.st_mode & 0777u), (unsigned long)st.st_size);
			fwrite(buf, 1, (size_t)st.st_size, stdout);
			pad4((unsigned long)st.st_size);
			free(buf);
		}
	}
	header("TRAILER!!!", 0, 0);
	return 0;
}
