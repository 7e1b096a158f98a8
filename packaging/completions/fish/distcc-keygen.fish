complete -c distcc-keygen -s f -l file -d 'the private key file (the public key goes to FILE.pub)' -r -F
complete -c distcc-keygen -s C -l comment -d 'comment for the public key line (default: user@host)' -r
complete -c distcc-keygen -s y -l public -d 'print the public key line of an existing private key file'
complete -c distcc-keygen -l force -d 'replace existing key files'
complete -c distcc-keygen -s h -l help -d 'Print help (see more with \'--help\')'
complete -c distcc-keygen -s V -l version -d 'Print version'
