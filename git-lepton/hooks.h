#ifndef LEPTON_HOOKS_H
#define LEPTON_HOOKS_H

#include <stddef.h>

/* The scripts of hooks/, compiled in by the Makefile (hooks-data.c). */
struct hook_script {
	const char *name, *text;
};

extern const struct hook_script hook_scripts[]; /* ends with { NULL, NULL } */

/* The line every installed hook carries, by which install knows its own. */
#define HOOK_MARKER "git lepton hook"

#endif
