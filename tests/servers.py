"""Real mail servers for the tests: Debian's dovecot (IMAP and POP3) started from a config in a temporary
folder on 127.0.0.1, and an aiosmtpd SMTP listener that records what we send and can be told to answer
4xx or 5xx. Nothing here is a mock: the code under test talks IMAP, POP3 and SMTP over TCP."""

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

MAIL_USER = "itsmmail"  # dovecot refuses to deliver as root: mail belongs to this system user


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def ensure_mail_user() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(MAIL_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", MAIL_USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(MAIL_USER)
    return entry.pw_uid, entry.pw_gid


class Dovecot:
    """One dovecot instance: IMAP and POP3 on free ports, users from a passwd-file."""

    ACCOUNTS = 400

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="itsm-dovecot-"))
        os.chmod(self.dir, 0o755)
        self.uid, self.gid = ensure_mail_user()
        self.imap_port, self.pop3_port = free_port(), free_port()
        self.imaps_port, self.pop3s_port = free_port(), free_port()
        self.tls = self._make_certificate()
        self.passwd = self.dir / "passwd"
        # accounts are created up front: each test takes a fresh one (dovecot caches the passwd-file)
        self.password = "secret-pass"
        self.passwd.write_text(
            "".join(
                f"user{i}:{{PLAIN}}{self.password}:{self.uid}:{self.gid}::{self.dir / 'mail' / f'user{i}'}::\n"
                for i in range(1, self.ACCOUNTS + 1)
            )
        )
        (self.dir / "mail").mkdir()
        os.chown(self.dir / "mail", self.uid, self.gid)
        self.config = self.dir / "dovecot.conf"
        self.config.write_text(self._config())
        self.process: subprocess.Popen | None = None
        self._users = 0

    def _make_certificate(self) -> bool:
        """A self-signed certificate for IMAPS, POP3S and STARTTLS (no TLS when openssl is missing)."""
        if not shutil.which("openssl"):
            return False
        done = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
             "-keyout", str(self.dir / "key.pem"), "-out", str(self.dir / "cert.pem")],
            capture_output=True,
        )  # fmt: skip
        return done.returncode == 0

    def _tls_config(self) -> str:
        if not self.tls:
            return "ssl = no\n"
        return f"ssl = yes\nssl_cert = <{self.dir}/cert.pem\nssl_key = <{self.dir}/key.pem\n"

    def _config(self) -> str:
        d = self.dir
        return f"""
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
{self._tls_config()}disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = {min(self.uid, 100)}
first_valid_gid = 0
mail_location = maildir:{d}/mail/%u/Maildir
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.passwd}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port if self.tls else 0}
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {self.pop3s_port if self.tls else 0}
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
protocol imap {{
  mail_max_userip_connections = 50
}}
"""

    def start(self) -> None:
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        self.process = subprocess.Popen(
            [binary, "-F", "-c", str(self.config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        if not (_wait_port(self.imap_port) and _wait_port(self.pop3_port)):
            self.stop()
            log = (self.dir / "dovecot.log").read_text() if (self.dir / "dovecot.log").exists() else ""
            raise RuntimeError(f"dovecot did not start: {log[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def add_user(self) -> tuple[str, str]:
        """A fresh account, so that each test has its own empty INBOX."""
        self._users += 1
        if self._users > self.ACCOUNTS:
            raise RuntimeError("no dovecot test account left: raise Dovecot.ACCOUNTS")
        return f"user{self._users}", self.password

    def log(self) -> str:
        path = self.dir / "dovecot.log"
        return path.read_text() if path.exists() else ""


def dovecot_available() -> str:
    """Why dovecot cannot run here, or '' when it can."""
    if not (shutil.which("dovecot") or os.path.exists("/usr/sbin/dovecot")):
        return "dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)"
    if os.geteuid() != 0:
        return "starting dovecot needs root (it drops to its own users)"
    for name in ("dovenull", "dovecot"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            return f"the system user {name} of dovecot is missing"
    try:
        grp.getgrnam("dovecot")
    except KeyError:
        return "the dovecot group is missing"
    return ""


class RecordingSMTPHandler:
    """aiosmtpd handler: records each message, or answers with `reply` (e.g. "451 4.3.0 Try later")."""

    def __init__(self) -> None:
        self.messages: list = []
        self.reply: str | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.reply:
            return self.reply
        self.messages.append(envelope)
        return "250 2.0.0 OK"


class SMTPServer:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.handler = RecordingSMTPHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list:
        return self.handler.messages
