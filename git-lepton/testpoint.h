#ifndef LEPTON_TESTPOINT_H
#define LEPTON_TESTPOINT_H

/*
 * Fault injection for the test suite: when the environment variable
 * GIT_LEPTON_TEST_DIE_AT equals name, the process kills itself there with
 * SIGKILL, as a crash or `kill -9` would, so tests can check that a store
 * stays valid whatever instant a push or fetch dies at.  Points are named
 * where they are placed (push-content-pack, push-content, push-history,
 * push-refs-locked, push-refs-written).
 */
void test_point(const char *name);

#endif
