"""The senders of the outbox (models.outbox): where a message goes.

The default writes it to the log, which is all a demo or a test machine wants. The
production choice is an SMS gateway reached over HTTP (GRIDLINK_SMS_URL, with
GRIDLINK_SMS_KEY): one POST per message, JSON {"to", "text", "key"}, the key also
as the Idempotency-Key header, the gateway's key as a Bearer token. A 2xx is sent;
a timeout, a network error, a 5xx, 408 or 429 is tried again later; any other 4xx
(a number or a key the gateway refuses) is given up at once with its reason.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

from models.outbox import Message, Sender, SendError

log = logging.getLogger("gridlink.outbox")
RETRYABLE = {408, 425, 429}


class LogSender(Sender):
    def send(self, message: Message) -> None:
        log.info("SMS to %s [%s]: %s", message.address, message.key, message.text)


class SmsGateway(Sender):
    def __init__(self, url: str, key: str | None, timeout: float = 5.0):
        self.url, self.key, self.timeout = url, key, timeout

    def send(self, message: Message) -> None:
        body = json.dumps({"to": message.address, "text": message.text, "key": message.key},
                          ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "Idempotency-Key": message.key}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read(1024)
        except urllib.error.HTTPError as e:
            reason = f"gateway answered {e.code} {e.reason}"
            raise SendError(reason, permanent=400 <= e.code < 500
                            and e.code not in RETRYABLE) from None
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            reason = getattr(e, "reason", None) or e
            raise SendError(f"gateway unreachable: {reason}") from None


def from_config(config) -> Sender:
    """The sender the configuration names: the SMS gateway when SMS_URL is set."""
    url = config.get("SMS_URL")
    if not url:
        return LogSender()
    return SmsGateway(url, config.get("SMS_KEY"), float(config.get("SMS_TIMEOUT") or 5))
