# bash completion for xdpban. It asks the binary, which knows its commands
# and flags (urfave/cli's --generate-bash-completion), so it never falls
# behind; the typed words are passed as arguments, never evaluated.
_xdpban() {
	local cur words cword
	if declare -F _init_completion >/dev/null; then
		_init_completion -n =: || return
	else
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
		cur=${COMP_WORDS[COMP_CWORD]}
	fi
	local -a ask=("${words[@]:1:cword-1}")
	[[ $cur == -* ]] && ask+=("$cur")
	local opts
	opts=$("${words[0]}" "${ask[@]}" --generate-bash-completion 2>/dev/null) || return
	# Word-splitting the answer is intended: one command or flag per line.
	# shellcheck disable=SC2207
	COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o bashdefault -o default -F _xdpban xdpban
