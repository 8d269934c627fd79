#!/bin/sh

test_description='git lepton install and uninstall

The filter and diff configuration, global by default and --local inside a
repository; the hooks, idempotence, chaining of a hook that was there
before, and uninstall restoring it.'

. "$(dirname "$0")"/test-lib.sh

HOOKS='pre-commit pre-push post-checkout'

# check_filter_config SCOPE: the filter configuration is in git config SCOPE
check_filter_config () {
	cat >expect <<-\EOF &&
	git-lepton filter-process
	git-lepton clean -- %f
	git-lepton smudge -- %f
	true
	EOF
	{
		git config $1 filter.lepton.process &&
		git config $1 filter.lepton.clean &&
		git config $1 filter.lepton.smudge &&
		git config $1 filter.lepton.required
	} >actual &&
	test_cmp expect actual &&
	git config $1 diff.lepton.textconv >textconv &&
	test -s textconv
}

# check_no_filter_config SCOPE
check_no_filter_config () {
	test_must_fail git config $1 --get-regexp '^filter\.lepton\.' &&
	test_must_fail git config $1 --get-regexp '^diff\.lepton\.'
}

# check_our_hooks DIR: ours, executable, each calling `git lepton hook NAME`
check_our_hooks () {
	for h in $HOOKS
	do
		test_path_is_executable "$1/$h" &&
		test_grep "git lepton hook $h" "$1/$h" || return 1
	done
}

test_expect_success 'install without options writes the global config' '
	cp "$HOME/.gitconfig" gitconfig.before &&
	git lepton install &&
	check_filter_config --global &&
	test "$(git config --global init.defaultBranch)" = main
'

test_expect_success 'install outside a repository installs no hooks anywhere' '
	test_path_is_missing hooks &&
	test_path_is_missing .git
'

test_expect_success 'a second global install changes nothing' '
	cp "$HOME/.gitconfig" gitconfig.once &&
	git lepton install &&
	test_cmp gitconfig.once "$HOME/.gitconfig"
'

test_expect_success 'the global config makes a new repository use the filter' '
	git init -q global &&
	(
		cd global &&
		echo "*.bin filter=lepton" >.gitattributes &&
		make_file model.bin 1000 &&
		git add model.bin &&
		assert_pointer_of model.bin model.bin
	)
'

test_expect_success 'uninstall removes the global config, keeps the rest' '
	git lepton uninstall &&
	check_no_filter_config --global &&
	test "$(git config --global init.defaultBranch)" = main &&
	test "$(git config --global advice.detachedHead)" = false
'

test_expect_success 'install --local outside a repository fails' '
	mkdir norepo &&
	(
		cd norepo &&
		test_must_fail git lepton install --local 2>err &&
		test -s err
	) &&
	check_no_filter_config --global
'

test_expect_success 'install --local writes the repository config and hooks' '
	git init -q local &&
	(
		cd local &&
		git lepton install --local &&
		check_filter_config --local &&
		check_our_hooks "$(git rev-parse --git-path hooks)" &&
		for h in $HOOKS
		do
			test_path_is_missing "$(git rev-parse --git-path hooks)/$h.chained" || return 1
		done
	) &&
	check_no_filter_config --global
'

test_expect_success 'a second install --local changes nothing' '
	(
		cd local &&
		hooks=$(git rev-parse --git-path hooks) &&
		cp .git/config config.once &&
		cp -R "$hooks" hooks.once &&
		git lepton install --local &&
		test_cmp config.once .git/config &&
		diff -r hooks.once "$hooks" &&
		for h in $HOOKS
		do
			test_path_is_missing "$hooks/$h.chained" || return 1
		done
	)
'

test_expect_success 'install in a repository also installs the hooks' '
	git init -q both &&
	(
		cd both &&
		git lepton install &&
		check_our_hooks "$(git rev-parse --git-path hooks)"
	) &&
	check_filter_config --global &&
	git lepton uninstall
'

test_expect_success 'install honours core.hooksPath' '
	git init -q hookspath &&
	(
		cd hookspath &&
		mkdir my-hooks &&
		git config core.hooksPath my-hooks &&
		git lepton install --local &&
		check_our_hooks my-hooks &&
		test_path_is_missing .git/hooks/pre-commit
	)
'

test_expect_success 'setup: a repository with hooks of its own' '
	git init -q chained &&
	(
		cd chained &&
		hooks=$(git rev-parse --git-path hooks) &&
		mkdir -p "$hooks" &&
		write_script "$hooks/pre-commit" <<-EOF &&
		touch "$TRASH_DIRECTORY/marker-pre-commit"
		EOF
		write_script "$hooks/pre-push" <<-EOF &&
		# as git-lfs does: read the refs on stdin
		echo "\$@" >"$TRASH_DIRECTORY/marker-pre-push-args"
		cat >"$TRASH_DIRECTORY/marker-pre-push-stdin"
		EOF
		cp "$hooks/pre-commit" ../user-pre-commit &&
		cp "$hooks/pre-push" ../user-pre-push
	)
'

test_expect_success 'install keeps the user hooks as <name>.chained' '
	(
		cd chained &&
		git lepton install --local &&
		hooks=$(git rev-parse --git-path hooks) &&
		check_our_hooks "$hooks" &&
		test_cmp ../user-pre-commit "$hooks/pre-commit.chained" &&
		test_cmp ../user-pre-push "$hooks/pre-push.chained" &&
		test_path_is_executable "$hooks/pre-commit.chained" &&
		test_path_is_executable "$hooks/pre-push.chained" &&
		test_path_is_missing "$hooks/post-checkout.chained"
	)
'

test_expect_success 'a second install does not chain our hook to itself' '
	(
		cd chained &&
		hooks=$(git rev-parse --git-path hooks) &&
		cp -R "$hooks" hooks.once &&
		git lepton install --local &&
		diff -r hooks.once "$hooks" &&
		test_cmp ../user-pre-commit "$hooks/pre-commit.chained"
	)
'

test_expect_success 'on commit, our pre-commit and the user one both run' '
	(
		cd chained &&
		echo text >file.txt &&
		git add file.txt &&
		GIT_TRACE="$TRASH_DIRECTORY/trace-commit" git commit -q -m one &&
		git rev-parse --verify HEAD
	) &&
	test_path_is_file marker-pre-commit &&
	test_grep "lepton hook pre-commit" trace-commit
'

test_expect_success 'on push, the user pre-push gets the same arguments and refs' '
	git init -q --bare remote.git &&
	(
		cd chained &&
		GIT_TRACE="$TRASH_DIRECTORY/trace-push" \
			git push -q ../remote.git main
	) &&
	test_grep "lepton hook pre-push" trace-push &&
	echo "../remote.git ../remote.git" >expect &&
	test_cmp expect marker-pre-push-args &&
	echo "refs/heads/main $(git -C chained rev-parse HEAD) refs/heads/main $ZERO_OID" >expect &&
	test_cmp expect marker-pre-push-stdin
'

test_expect_success 'a failing user hook still stops the commit' '
	test_when_finished "cp pre-commit.saved chained/.git/hooks/pre-commit.chained" &&
	(
		cd chained &&
		hooks=$(git rev-parse --git-path hooks) &&
		test "$hooks" = .git/hooks &&
		cp "$hooks/pre-commit.chained" ../pre-commit.saved &&
		write_script "$hooks/pre-commit.chained" <<-\EOF &&
		echo "user hook says no" >&2
		exit 1
		EOF
		echo more >>file.txt &&
		git add file.txt &&
		test_must_fail git commit -q -m refused 2>err &&
		test_grep "user hook says no" err
	)
'

test_expect_success 'uninstall --local removes config and our hooks, restores the user ones' '
	(
		cd chained &&
		hooks=$(git rev-parse --git-path hooks) &&
		git lepton uninstall --local &&
		check_no_filter_config --local &&
		test_cmp ../user-pre-commit "$hooks/pre-commit" &&
		test_cmp ../user-pre-push "$hooks/pre-push" &&
		test_path_is_missing "$hooks/post-checkout" &&
		test_path_is_missing "$hooks/pre-commit.chained" &&
		test_path_is_missing "$hooks/pre-push.chained"
	)
'

test_expect_success 'uninstall in a repository with only our hooks removes them' '
	(
		cd local &&
		hooks=$(git rev-parse --git-path hooks) &&
		git lepton uninstall --local &&
		check_no_filter_config --local &&
		for h in $HOOKS
		do
			test_path_is_missing "$hooks/$h" || return 1
		done
	)
'

test_expect_success 'uninstall leaves a hook that is not ours alone' '
	git init -q foreign &&
	(
		cd foreign &&
		hooks=$(git rev-parse --git-path hooks) &&
		mkdir -p "$hooks" &&
		write_script "$hooks/post-checkout" <<-\EOF &&
		echo not ours
		EOF
		cp "$hooks/post-checkout" ../foreign-hook &&
		git lepton uninstall --local &&
		test_cmp ../foreign-hook "$hooks/post-checkout"
	)
'

test_done
