#!/bin/sh
# t5809-remote-maintenance.sh on an S3 store (moto_server): the same tests
# with LEPTON_TEST_BACKEND=s3 (lib-backend.sh starts the server; the trash
# directory is named after this script).
LEPTON_TEST_BACKEND=s3
. "$(dirname "$0")"/t5809-remote-maintenance.sh
