"""E-mail through a LAN relay (Postfix on the Pi, the lab's mail server) with ``smtplib``.

One message per alert to every ``to`` address. ``security`` is ``starttls`` (the
default: upgrade on port 587), ``tls`` (TLS from the first byte, port 465) or ``none``
(a relay on the LAN that has no TLS, port 25); a login is used when ``username`` is set.
The Message-ID is made from the idempotency key, so a repeat shows as the same mail.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from drivers.options import Option, in_range, one_of
from sensorhub.alerts.channels import COMMON, ChannelError, ChannelSpec
from sensorhub.alerts.message import Notification

PORTS = {"starttls": 587, "tls": 465, "none": 25}


def address(value: str) -> str | None:
    """One e-mail address (``Name <a@b>`` is fine)."""
    _, addr = parseaddr(value)
    return None if "@" in addr and " " not in addr else f"not an e-mail address: {value!r}"


def addresses(values: list[str]) -> str | None:
    """A non-empty list of e-mail addresses."""
    if not values:
        return "name at least one address"
    return next((m for m in map(address, values) if m), None)


class SmtpChannel:
    """Send alerts as e-mail through one SMTP server."""

    def __init__(self, name: str, host: str, to: list[str], sender: str,
                 port: int | None = None, security: str = "starttls",
                 username: str | None = None, password: str | None = None,
                 ca_file: str | None = None, timeout: float = 10.0,
                 retries: int | None = None) -> None:
        self.name = name
        self.host = host
        self.port = port or PORTS[security]
        self.security = security
        self.to = list(to)
        self.sender = sender
        self.username = username
        self._password = password
        self._ca_file = ca_file
        self.timeout = float(timeout)
        self.retries = retries

    def message(self, notification: Notification) -> EmailMessage:
        """The e-mail of one notification."""
        mail = EmailMessage()
        mail["Subject"] = notification.title
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.to)
        mail["Date"] = formatdate(localtime=True)
        mail["Message-ID"] = f"<{notification.key}.{self.name}@sensorhub>"
        if notification.severity == "critical" and notification.state != "cleared":
            mail["X-Priority"] = "1"
            mail["Importance"] = "high"
        mail.set_content(notification.text + "\n")
        return mail

    def deliver(self, notification: Notification) -> str:
        """Hand the mail to the server; the answer is the server's reply to DATA."""
        context = ssl.create_default_context(cafile=self._ca_file)
        try:
            if self.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port,
                                                      timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                smtp.ehlo()
                if self.security == "starttls":
                    if not smtp.has_extn("starttls"):
                        raise ChannelError(f"{self.host} does not offer STARTTLS (set "
                                           "security: none for a relay without TLS)")
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if self.username:
                    smtp.login(self.username, self._password or "")
                code, reply = smtp.mail(parseaddr(self.sender)[1])
                if code != 250:
                    raise ChannelError(f"MAIL FROM refused: {code} {reply.decode()}")
                for rcpt in self.to:
                    code, reply = smtp.rcpt(parseaddr(rcpt)[1])
                    if code not in (250, 251):
                        raise ChannelError(f"{rcpt} refused: {code} {reply.decode()}")
                code, reply = smtp.data(self.message(notification).as_bytes())
                if code != 250:
                    raise ChannelError(f"message refused: {code} {reply.decode()}")
                return f"{code} {reply.decode('utf-8', 'replace')}"
        except smtplib.SMTPAuthenticationError as error:
            raise ChannelError(f"login refused: {error.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as error:
            raise ChannelError(f"{self.host}:{self.port}: {error}") from None


SPEC = ChannelSpec(SmtpChannel, options={
    "host": Option((str,)),
    "port": Option((int,), in_range(1, 65535)),
    "security": Option((str,), one_of(tuple(PORTS))),
    "username": Option((str,)),
    "password": Option((str,)),
    "sender": Option((str,), address),
    "to": Option((list,), addresses),
    "ca_file": Option((str,)),
    **COMMON,
}, required=("host", "sender", "to"), secrets=("password",))
