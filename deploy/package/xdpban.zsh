#compdef xdpban
# zsh completion for xdpban. It asks the binary, which knows its commands
# and flags (urfave/cli's --generate-bash-completion); the typed words are
# passed as arguments, never evaluated.
local -a ask opts
ask=("${(@)words[2,CURRENT-1]}")
[[ ${words[CURRENT]} == -* ]] && ask+=("${words[CURRENT]}")
opts=("${(@f)$("${words[1]}" "${(@)ask}" --generate-bash-completion 2>/dev/null)}")
if [[ -n ${opts[1]} ]]; then
	compadd -a opts
else
	_files
fi
