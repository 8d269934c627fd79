#include <stdlib.h>

#include "backend-impl.h"
#include "error.h"
#include "banned.h"

int backend_s3_open(struct backend **out, const char *url)
{
	char *shown = backend_redact_url(url);
	int err = lepton_error_set(LEPTON_EINVALID, "'%s': S3 stores are not in this build", shown);
	*out = NULL;
	free(shown);
	return err;
}
