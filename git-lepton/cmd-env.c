/* env and version: what git-lepton sees. */
#include <stdio.h>
#include <string.h>

#include <git2.h>
#include <openssl/crypto.h>
#include <xxhash.h>
#include <zstd.h>

#include "cmd.h"
#include "store.h"
#include "banned.h"

int cmd_version(int argc, const char **argv, struct lepton_repo *repo)
{
	int major, minor, rev;
	git_libgit2_version(&major, &minor, &rev);
	printf("git-lepton/%s (libgit2 %d.%d.%d; zstd %s; xxhash %u; %s)\n", LEPTON_VERSION, major,
	       minor, rev, ZSTD_versionString(), XXH_versionNumber(),
	       OpenSSL_version(OPENSSL_VERSION));
	return 0;
}

static void print_config(git_config *cfg, const char *key)
{
	git_buf value = { 0 };
	if (cfg && git_config_get_string_buf(&value, cfg, key) == 0)
		printf("%s=%s\n", key, value.ptr);
	else
		printf("%s=\n", key);
	git_buf_dispose(&value);
}

int cmd_env(int argc, const char **argv, struct lepton_repo *repo)
{
	git_config *cfg = NULL, *outside = NULL;
	static const char *const keys[] = {
		"filter.lepton.process",  "filter.lepton.clean",     "filter.lepton.smudge",
		"filter.lepton.required", "diff.lepton.textconv",    "merge.lepton.driver",
		"lepton.fsync",           "lepton.compressionlevel",
	};
	if (argc > 1)
		return usage_error(argv[0], "unexpected argument '%s'", argv[1]);
	cmd_version(1, argv, repo);
	if (repo) {
		printf("GitDir=%s\n", repo->gitdir);
		printf("CommonDir=%s\n", repo->commondir);
		printf("WorkTree=%s\n", repo->workdir ? repo->workdir : "");
		printf("LocalStore=%s\n", repo->store_path);
	} else {
		printf("GitDir=\nCommonDir=\nWorkTree=\nLocalStore=\n");
	}
	printf("StoreFormat=%d\n", STORE_FORMAT_VERSION);
	printf("ChunkSize=%u\n", STORE_CHUNK_SIZE);
	/* outside a repository: the global and system configuration */
	if (repo)
		cfg = repo_config(repo);
	else if (git_config_open_default(&outside) == 0)
		cfg = outside;
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		print_config(cfg, keys[i]);
	git_config_free(outside);
	return 0;
}
