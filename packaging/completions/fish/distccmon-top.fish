complete -c distccmon-top -s i -l interval -d 'Seconds between refreshes (fractions allowed)' -r
complete -c distccmon-top -l stats -d 'Also show a helper\'s counters from its stats port (distccd --stats); repeatable' -r
complete -c distccmon-top -l width -d 'Width of the --once frame (default: the terminal\'s, or 120)' -r
complete -c distccmon-top -l once -d 'Print one frame as plain text to stdout and exit'
complete -c distccmon-top -s h -l help -d 'Print help'
complete -c distccmon-top -s V -l version -d 'Print version'
