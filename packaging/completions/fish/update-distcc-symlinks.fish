complete -c update-distcc-symlinks -l dir -d 'The whitelist directory; the masquerade links go to DIR/bin' -r -f -a "(__fish_complete_directories)"
complete -c update-distcc-symlinks -l bindir -d 'Where to look for compilers (repeatable; default /usr/bin)' -r -f -a "(__fish_complete_directories)"
complete -c update-distcc-symlinks -l dirs-file -d 'More bin directories, one per line (cross toolchains outside /usr/bin); a missing file lists none' -r -F
complete -c update-distcc-symlinks -l distcc -d 'The distcc client the links point at' -r -F
complete -c update-distcc-symlinks -s n -l dry-run -d 'Print what would change, change nothing'
complete -c update-distcc-symlinks -l client-only -d 'Only the masquerade links in DIR/bin'
complete -c update-distcc-symlinks -l whitelist-only -d 'Only the whitelist links in DIR'
complete -c update-distcc-symlinks -l remove -d 'Remove every distcc link (and the directories, if that empties them)'
complete -c update-distcc-symlinks -s v -l verbose -d 'Print the compilers found and every change made'
complete -c update-distcc-symlinks -s h -l help -d 'Print help (see more with \'--help\')'
complete -c update-distcc-symlinks -s V -l version -d 'Print version'
