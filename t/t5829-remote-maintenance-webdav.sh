#!/bin/sh
# t5809-remote-maintenance.sh on a WebDAV store (nginx): the same tests
# with LEPTON_TEST_BACKEND=webdav (lib-backend.sh starts the server; the trash
# directory is named after this script).
LEPTON_TEST_BACKEND=webdav
. "$(dirname "$0")"/t5809-remote-maintenance.sh
