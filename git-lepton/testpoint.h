#ifndef LEPTON_TESTPOINT_H
#define LEPTON_TESTPOINT_H

/*
 * Fault injection and interleaving for the test suite, at named points
 * (push-content-pack, push-content, push-history, push-refs-locked,
 * push-refs-written, prune-remote-*, maintenance-*, fsck-remote-packs:
 * named where they are placed).
 *
 * GIT_LEPTON_TEST_DIE_AT=name: the process kills itself there with
 * SIGKILL, as a crash or `kill -9` would, so tests can check that a store
 * stays valid whatever instant a push or fetch dies at.
 *
 * GIT_LEPTON_TEST_PAUSE_AT=name with GIT_LEPTON_TEST_PAUSE_FILE=path: the
 * process creates path.reached there and waits until path exists (polling,
 * at most 60 s, then it goes on), so a test can run another command at that
 * instant and then release it (`touch path`).  A point reached again later
 * in the same process does not wait once path exists.
 */
void test_point(const char *name);

#endif
