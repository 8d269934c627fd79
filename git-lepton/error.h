#ifndef LEPTON_ERROR_H
#define LEPTON_ERROR_H

/*
 * Errors in library code: a function that fails returns a negative number
 * (one of enum lepton_error) and records a message with lepton_error_set().
 * Only the command layer prints messages and picks exit codes.
 *
 * The message is per thread.  It is in git's style: lower case, no full
 * stop, the object in quotes, and where possible what to do next.
 */

enum lepton_error {
	LEPTON_OK = 0,
	LEPTON_ERR = -1,       /* generic failure */
	LEPTON_ENOTFOUND = -2, /* object, file or key does not exist */
	LEPTON_ECORRUPT = -3,  /* checksum or format mismatch in stored data */
	LEPTON_EINVALID = -4,  /* malformed input from the user or from git */
	LEPTON_EIO = -5,       /* the operating system refused a read or write */
	LEPTON_EGIT = -6,      /* git or libgit2 failed */
	LEPTON_EUSAGE = -7,    /* wrong arguments to a command */
	LEPTON_ECONFLICT = -8, /* a conditional write lost: someone else changed the object */
	LEPTON_EBUSY = -9,     /* a prune or gc is rewriting the store: try again later */
};

/* Record a message for the calling thread; returns code, for `return
 * lepton_error_set(LEPTON_EIO, "...")`. */
int lepton_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like lepton_error_set() and appends ": strerror(errno)". */
int lepton_error_errno(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepend context to the current message: "context: old message". */
int lepton_error_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last message of this thread, or "unknown error"; valid until the next
 * lepton_error_* call on this thread. */
const char *lepton_error_last(void);

void lepton_error_clear(void);

#endif
