#!/usr/bin/env python3
"""Write a synthetic Postfix log for benchmarks.

The line forms and their mix follow the Postfix files of the shared corpus:
smtpd sessions with client= lines, cleanup message-ids, qmgr from= lines,
smtp and local deliveries (some deferred, some bounced), NOQUEUE rejects,
anvil statistics and opendkim lines. Output is deterministic for a seed.

Usage: generate_postfix_log.py SIZE_MB OUTPUT [--seed N]
"""

import argparse
import random
import sys


def stamp(second):
    day = 1 + second // 86400
    rest = second % 86400
    return "Mar %2d %02d:%02d:%02d" % (day, rest // 3600, rest % 3600 // 60, rest % 60)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("size_mb", type=int)
    parser.add_argument("output")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    limit = args.size_mb * 1024 * 1024
    written = 0
    second = 0
    queue_number = 0x100000
    pid = 20000
    with open(args.output, "w", encoding="ascii") as out:
        while written < limit:
            second += rng.choice((0, 0, 1, 1, 2))
            if second >= 28 * 86400:
                second = 0
            t = stamp(second)
            pid += 1
            queue_number += rng.randint(1, 40)
            queue_id = "%X" % (queue_number * 4099 % 0xFFFFFFFFFF)
            client_ip = "10.%d.%d.%d" % (rng.randint(0, 3), rng.randint(0, 255), rng.randint(1, 254))
            client = "host%d.corp.example.com[%s]" % (rng.randint(1, 400), client_ip)
            lines = []
            kind = rng.random()
            if kind < 0.12:
                lines.append("%s mx1 postfix/smtpd[%d]: connect from unknown[%s]" % (t, pid, client_ip))
                lines.append(
                    "%s mx1 postfix/smtpd[%d]: NOQUEUE: reject: RCPT from unknown[%s]: 554 5.7.1 "
                    "<u%d@elsewhere.example.org>: Relay access denied; from=<s%d@spam.example.net> "
                    "to=<u%d@elsewhere.example.org> proto=ESMTP helo=<WIN-%d>"
                    % (t, pid, client_ip, pid, pid, pid, pid)
                )
                lines.append(
                    "%s mx1 postfix/smtpd[%d]: disconnect from unknown[%s] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4"
                    % (t, pid, client_ip)
                )
            else:
                sender = "user%d@example.com" % rng.randint(1, 3000)
                recipients = ["r%d@d%d.example.net" % (rng.randint(1, 90000), rng.randint(1, 500))
                              for _ in range(rng.choice((1, 1, 1, 2, 3, 5)))]
                size = rng.randint(800, 400000)
                lines.append("%s mx1 postfix/smtpd[%d]: connect from %s" % (t, pid, client))
                lines.append("%s mx1 postfix/smtpd[%d]: %s: client=%s" % (t, pid, queue_id, client))
                lines.append("%s mx1 postfix/cleanup[%d]: %s: message-id=<%d.%s@host.corp.example.com>"
                             % (t, pid + 1, queue_id, second, queue_id))
                lines.append("%s mx1 opendkim[900]: %s: DKIM-Signature field added (s=mail, d=example.com)"
                             % (t, queue_id))
                lines.append("%s mx1 postfix/qmgr[1010]: %s: from=<%s>, size=%d, nrcpt=%d (queue active)"
                             % (t, queue_id, sender, size, len(recipients)))
                lines.append("%s mx1 postfix/smtpd[%d]: disconnect from %s ehlo=1 mail=1 rcpt=%d data=1 quit=1 commands=%d"
                             % (t, pid, client, len(recipients), 4 + len(recipients)))
                for recipient in recipients:
                    fate = rng.random()
                    if fate < 0.85:
                        status = "sent (250 2.0.0 Ok: queued as %X)" % rng.randint(0, 1 << 40)
                        dsn = "2.0.0"
                    elif fate < 0.95:
                        status = ("deferred (connect to mx.%s[192.0.2.%d]:25: Connection timed out)"
                                  % (recipient.split("@")[1], rng.randint(1, 254)))
                        dsn = "4.4.1"
                    else:
                        status = ("bounced (host mx.%s[192.0.2.9] said: 550 5.1.1 <%s>: Recipient address "
                                  "rejected: User unknown (in reply to RCPT TO command))" % (recipient.split("@")[1], recipient))
                        dsn = "5.1.1"
                    lines.append(
                        "%s mx1 postfix/smtp[%d]: %s: to=<%s>, relay=mx.%s[192.0.2.%d]:25, delay=0.%d, "
                        "delays=0.01/0/0.1/0.2, dsn=%s, status=%s"
                        % (t, pid + 2, queue_id, recipient, recipient.split("@")[1], rng.randint(1, 254),
                           rng.randint(1, 9), dsn, status)
                    )
                lines.append("%s mx1 postfix/qmgr[1010]: %s: removed" % (t, queue_id))
            if rng.random() < 0.01:
                lines.append("%s mx1 postfix/anvil[1040]: statistics: max connection rate 3/60s for (smtp:%s) at %s"
                             % (t, client_ip, t))
            text = "\n".join(lines) + "\n"
            out.write(text)
            written += len(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
