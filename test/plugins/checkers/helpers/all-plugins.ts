import checkers from '@kad/plugin-checkers'
import tcp from '@kad/plugin-checker-tcp'
import http from '@kad/plugin-checker-http'
import misc from '@kad/plugin-checker-misc'
import smtp from '@kad/plugin-checker-smtp'
import dns from '@kad/plugin-checker-dns'
import udp from '@kad/plugin-checker-udp'
import ping from '@kad/plugin-checker-ping'
import file from '@kad/plugin-checker-file'

export const ALL_CHECKER_PLUGINS = [checkers, tcp, http, misc, smtp, dns, udp, ping, file]
