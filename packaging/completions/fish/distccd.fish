complete -c distccd -s P -l pid-file -d 'save daemon process id to file [default: none]' -r -F
complete -c distccd -s N -l nice -d 'lower priority, 20=most nice [default: 5]' -r
complete -c distccd -l user -d 'if run by root, change to this persona [default: distccd, else distcc, else nobody]' -r
complete -c distccd -s j -l jobs -d 'maximum tasks at any time [default: number of CPUs + 2]' -r
complete -c distccd -l job-lifetime -d 'maximum lifetime of a compile request [default: 0, no limit]' -r
complete -c distccd -s p -l port -d 'TCP port to listen on [default: 3632]' -r
complete -c distccd -l listen -d 'IP address to listen on [default: every address]' -r
complete -c distccd -s a -l allow -d 'client address access control, repeatable [default: the private ranges, with a warning]' -r
complete -c distccd -l stats-port -d 'TCP port to listen on for statistics requests [default: 3633]' -r
complete -c distccd -l log-level -d 'set detail level for log file (critical, error, warning, notice, info, debug) [default: notice]' -r
complete -c distccd -l log-file -d 'send messages here instead of syslog [default: syslog]' -r -F
complete -c distccd -l lifetime -d 'exit after SECONDS [default: 0, never]' -r
complete -c distccd -l sysroot -d 'allow -specs=FILE when DIR/FILE is a regular file (distcc HEAD) [default: none]' -r -F
complete -c distccd -l oom-score-adj -d 'write N to /proc/self/oom_score_adj (distcc HEAD, Linux) [default: unchanged]' -r
complete -c distccd -l auth-keys -d 'authorized client keys: enables the secure transport (distcc-rs) [default: none, plain only]' -r -F
complete -c distccd -l host-key -d 'this daemon\'s private key for the secure transport (distcc-rs) [default: none]' -r -F
complete -c distccd -l secure-port -d 'also listen on PORT for the secure transport only (distcc-rs) [default: none]' -r
complete -c distccd -l max-input-size -d 'largest body after decompression: the .i, or one pump file (distcc-rs; K, M, G) [default: 256M]' -r
complete -c distccd -l max-request-size -d 'largest sum of one request\'s bodies after decompression (distcc-rs; K, M, G) [default: 512M]' -r
complete -c distccd -l receive-memory -d 'memory for decoding request bodies, all clients together (distcc-rs; K, M, G) [default: 256M]' -r
complete -c distccd -l receive-disk -d 'disk for received request bodies, all clients together (distcc-rs; K, M, G) [default: 2G]' -r
complete -c distccd -l header-cache-size -d 'disk for headers kept by content hash for DIST 0x303 clients, least recently used evicted (distcc-rs; K, M, G) [default: 1G]' -r
complete -c distccd -l help -d 'explain usage and exit'
complete -c distccd -l version -d 'show version and exit'
complete -c distccd -l allow-private -d 'allow the private (non-Internet) address ranges'
complete -c distccd -l stats -d 'enable statistics reporting via HTTP server: distcc\'s page, /metrics, /status.json, /ui [default: off]'
complete -c distccd -l zeroconf -d 'register via mDNS/DNS-SD'
complete -c distccd -l verbose -d 'set log level to "debug"'
complete -c distccd -l no-detach -d 'don\'t detach from parent (for daemontools, systemd, etc)'
complete -c distccd -l log-stderr -d 'send messages to stderr'
complete -c distccd -s W -l wizard -d 'for running under gdb: --daemon --no-detach --no-fork --log-stderr --verbose'
complete -c distccd -l inetd -d 'serve client connected to stdin'
complete -c distccd -l daemon -d 'bind and listen on socket'
complete -c distccd -l no-fork -d 'serve every connection in the listening process (debugging)'
complete -c distccd -l no-fifo -d 'accepted and ignored (distcc legacy)'
complete -c distccd -l enable-tcp-insecure -d 'skip the compiler whitelist (CVE-2004-2687): any compiler name runs'
complete -c distccd -l require-auth -d 'refuse plain distcc clients: serve the secure transport only (distcc-rs)'
