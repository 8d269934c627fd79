#!/bin/sh
# t5805-pre-push.sh with the store on WebDAV (nginx): the same tests with
# LEPTON_TEST_BACKEND=webdav (lib-backend.sh starts the server; the trash
# directory is named after this script).
LEPTON_TEST_BACKEND=webdav
. "$(dirname "$0")"/t5805-pre-push.sh
