"""Parses the messages an SMTP sink wrote (argv[1]) with Python's email
package and prints them as JSON: the headers the notice tests check, the
decoded text and HTML, the attachments, and the raw text (to look for secrets)."""

import email
import email.policy
import glob
import json
import os
import sys

out = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.eml"))):
    raw = open(path, "rb").read()
    meta = json.load(open(path[: -len(".eml")] + ".json"))
    m = email.message_from_bytes(raw, policy=email.policy.default)
    text = m.get_body(preferencelist=("plain",))
    html = m.get_body(preferencelist=("html",))
    out.append(
        {
            "envelope": meta,
            "from": str(m["From"]),
            "to": [str(a) for a in m["To"].addresses],
            "cc": m["Cc"],
            "bcc": m["Bcc"],
            "subject": str(m["Subject"]),
            "message_id": m["Message-ID"],
            "date": m["Date"] and m["Date"].datetime.isoformat(),
            "list_unsubscribe": m["List-Unsubscribe"],
            "content_language": m["Content-Language"],
            "content_type": m.get_content_type(),
            "text": text.get_content() if text else None,
            "html": html.get_content() if html else None,
            "attachments": [
                {"filename": p.get_filename(), "type": p.get_content_type(), "body": p.get_content()}
                for p in m.iter_attachments()
            ],
            "raw": raw.decode("utf-8", "replace"),
        }
    )
print(json.dumps(out))
