#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "banned.h"

static _Thread_local char message[1024];

static void format_into(char *dst, size_t size, const char *fmt, va_list ap)
{
	vsnprintf(dst, size, fmt, ap);
}

int lepton_error_set(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	format_into(message, sizeof(message), fmt, ap);
	va_end(ap);
	return code;
}

int lepton_error_errno(int code, const char *fmt, ...)
{
	int saved = errno;
	size_t len;
	va_list ap;
	va_start(ap, fmt);
	format_into(message, sizeof(message), fmt, ap);
	va_end(ap);
	len = strlen(message);
	snprintf(message + len, sizeof(message) - len, ": %s", strerror(saved));
	errno = saved;
	return code;
}

int lepton_error_wrap(int code, const char *fmt, ...)
{
	char old[sizeof(message)];
	size_t len;
	va_list ap;
	memcpy(old, message, sizeof(old));
	va_start(ap, fmt);
	format_into(message, sizeof(message), fmt, ap);
	va_end(ap);
	len = strlen(message);
	if (old[0])
		snprintf(message + len, sizeof(message) - len, ": %s", old);
	return code;
}

const char *lepton_error_last(void)
{
	return message[0] ? message : "unknown error";
}

void lepton_error_clear(void)
{
	message[0] = '\0';
}
