#!/usr/bin/env python3
"""Prints the messages in a maildir (what `MIMAMORI_NOTIFY=1 deploy/local/stack.sh`'s
SMTP sink received): date, recipient, subject and the plain-text part, decoded.

    python3 deploy/local/read-mail.py DIR
"""
import email.policy
import mailbox
import sys


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 64
    box = mailbox.Maildir(sys.argv[1], factory=None, create=False)
    msgs = []
    for key in box.keys():
        with box.get_file(key) as f:
            msgs.append(email.message_from_binary_file(f, policy=email.policy.default))
    msgs.sort(key=lambda m: m["Date"].datetime if m["Date"] else 0)
    if not msgs:
        print("no messages yet")
    for m in msgs:
        body = m.get_body(preferencelist=("plain",))
        print("=" * 72)
        print(f"Date:    {m['Date']}\nTo:      {m['To']}\nSubject: {m['Subject']}")
        print(body.get_content() if body else "(no text part)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
