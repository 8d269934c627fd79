#!/bin/sh
# t5805-pre-push.sh with the store on S3 (moto_server): the same tests with
# LEPTON_TEST_BACKEND=s3 (lib-backend.sh starts the server; the trash
# directory is named after this script).
LEPTON_TEST_BACKEND=s3
. "$(dirname "$0")"/t5805-pre-push.sh
