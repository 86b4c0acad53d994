"""Google credentials for the Sheets calls, in the README's order of preference.

1. ``google_service_account_file``: a service account key, with the spreadsheet shared to its
   e-mail address. Never needs a browser and never expires: the way for cron.
2. ``google_token_file`` (default ``token.json`` beside the config): Google's authorized-user
   JSON, as ``Credentials.to_json()`` writes it. Refreshed when expired and saved at once,
   atomically, mode 0600.
3. ``token.pickle`` beside the config (the original script's file) when there is no token
   file yet: read once, with an unpickler that accepts nothing but Google credential classes,
   written to the token file, and never read again.
4. First authorization from ``credentials.json`` (``google_client_secrets_file``) with
   ``InstalledAppFlow.run_local_server(open_browser=False)``: the caller's
   ``show_authorization_url`` puts the address in front of the user (library code does not
   print); over SSH the user forwards ``google_oauth_port`` first. Without a caller to show
   it (cron) there is no flow: waiting for a browser at 4 am would hang the job.

google-auth ignores the ``token_uri`` inside token.json (a file must not send the refresh
token elsewhere), so the sandbox points refreshes at its emulator with ``google_token_uri``.
"""

from __future__ import annotations

import io
import logging
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ..settings import Config
from ..storage import SECRET_FILE_MODE, atomic_write_text
from .transport import (
    GoogleAuthError,
    GoogleAuthSetupError,
    credential_secrets,
    error_detail,
    refresh_failure_message,
)

__all__ = ["SCOPES", "CredentialFiles", "authorize", "credential_secrets", "load_credentials"]

logger = logging.getLogger(__name__)

SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
DEFAULT_TOKEN_FILE = "token.json"  # noqa: S105 - a file name
DEFAULT_CLIENT_SECRETS_FILE = "credentials.json"
LEGACY_PICKLE_FILE = "token.pickle"
DEFAULT_OAUTH_PORT = 8080
AUTHORIZATION_WAIT_S = 600

ShowUrl = Callable[[str], None]


@dataclass(frozen=True)
class CredentialFiles:
    """Where each kind of credential lives, resolved against the config's folder."""

    service_account: Path | None
    token: Path
    legacy_pickle: Path
    client_secrets: Path

    @classmethod
    def from_config(cls, config: Config) -> CredentialFiles:
        token = config.path_setting("google_token_file", DEFAULT_TOKEN_FILE)
        secrets = config.path_setting("google_client_secrets_file", DEFAULT_CLIENT_SECRETS_FILE)
        assert token is not None and secrets is not None  # both have defaults
        return cls(
            service_account=config.path_setting("google_service_account_file"),
            token=token,
            legacy_pickle=config.folder / LEGACY_PICKLE_FILE,
            client_secrets=secrets,
        )


def load_credentials(config: Config, *, show_authorization_url: ShowUrl | None = None) -> Any:
    """Usable credentials, refreshed if needed; ``GoogleAuthError`` says what to do if not."""
    files = CredentialFiles.from_config(config)
    if files.service_account is not None:
        return _service_account(config, files.service_account)
    if files.token.exists():
        credentials = _read_token_file(files.token)
    elif files.legacy_pickle.exists():
        credentials = _migrate_pickle(files.legacy_pickle, files.token)
    elif files.client_secrets.exists() and show_authorization_url is not None:
        credentials = authorize(config, files, show_authorization_url)
        _save_token(credentials, files.token)
        return credentials
    else:
        raise GoogleAuthSetupError(_setup_advice(files))
    credentials = _with_token_uri(credentials, config)
    if not credentials.valid:
        refresh_and_save(credentials, files.token, timeout=config.http_timeout)
    return credentials


def refresh_and_save(credentials: Any, token_file: Path, *, timeout: float) -> None:
    """Refresh an authorized-user credential and save it at once (atomically, 0600)."""
    from google.auth.exceptions import RefreshError, TransportError  # noqa: PLC0415

    if not credentials.refresh_token:
        raise GoogleAuthError(
            f"{token_file} has no refresh token; delete it and run populate_google_sheet.py "
            "by hand to authorize again"
        )
    try:
        credentials.refresh(_timed_request(timeout))
    except RefreshError as exc:
        raise GoogleAuthError(refresh_failure_message(exc)) from None
    except TransportError as exc:
        raise GoogleAuthError(
            f"cannot reach Google's token endpoint: {error_detail(str(exc))}"
        ) from None
    _save_token(credentials, token_file)
    logger.info("refreshed the Google access token (saved to %s)", token_file)


def authorize(config: Config, files: CredentialFiles, show_url: ShowUrl) -> Any:
    """The first authorization: a local-server flow whose address the caller shows the user."""
    from google_auth_oauthlib.flow import InstalledAppFlow  # noqa: PLC0415

    port = int(config.raw.get("google_oauth_port") or DEFAULT_OAUTH_PORT)
    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(files.client_secrets), SCOPES)
    except (ValueError, OSError) as exc:
        raise GoogleAuthSetupError(
            f"{files.client_secrets} is not an OAuth client file of type 'Desktop app' ({exc}); "
            "download it again from the Google Cloud console"
        ) from None
    make_url = flow.authorization_url

    def authorization_url(**kwargs: Any) -> tuple[str, str]:
        url, state = make_url(**kwargs)
        show_url(url)
        return url, state

    # The flow asks for the address right before it waits: that is when the user must see it.
    flow.authorization_url = authorization_url
    try:
        credentials = flow.run_local_server(
            host="localhost",
            port=port,
            open_browser=False,
            authorization_prompt_message=None,
            timeout_seconds=AUTHORIZATION_WAIT_S,
            access_type="offline",
            prompt="consent",
        )
    except OSError as exc:
        raise GoogleAuthSetupError(
            f"cannot listen on localhost:{port} for Google's answer ({exc.strerror or exc}); "
            "set google_oauth_port in the config to a free port"
        ) from None
    except Exception as exc:  # oauthlib's and the flow's own errors, e.g. a timeout
        raise GoogleAuthError(
            f"the Google authorization did not complete: {type(exc).__name__}: "
            f"{error_detail(str(exc))}"
        ) from None
    logger.info("authorized Google Sheets access; the token is saved in %s", files.token)
    return credentials


# ----- the kinds of credential ----------------------------------------------------------------


def _service_account(config: Config, path: Path) -> Any:
    from google.oauth2 import service_account  # noqa: PLC0415

    if not path.exists():
        raise GoogleAuthSetupError(
            f"google_service_account_file {path} does not exist; fix the path in {config.path}"
        )
    try:
        credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(path), scopes=SCOPES
        )
    except (ValueError, KeyError, OSError) as exc:
        raise GoogleAuthSetupError(
            f"{path} is not a service account key file ({type(exc).__name__}); download a "
            "JSON key for the service account again"
        ) from None
    token_uri = config.get_str("google_token_uri")
    return credentials.with_token_uri(token_uri) if token_uri else credentials


def _read_token_file(path: Path) -> Any:
    from google.oauth2.credentials import Credentials  # noqa: PLC0415

    try:
        return Credentials.from_authorized_user_file(str(path), SCOPES)  # type: ignore[no-untyped-call]
    except (ValueError, KeyError, OSError) as exc:
        # Left untouched: the user decides whether to restore or delete it.
        raise GoogleAuthError(
            f"{path} is not a usable Google token file ({type(exc).__name__}); it was left "
            "untouched: delete it and run populate_google_sheet.py by hand to authorize again"
        ) from None


def _with_token_uri(credentials: Any, config: Config) -> Any:
    token_uri = config.get_str("google_token_uri")
    if not token_uri or credentials.token_uri == token_uri:
        return credentials
    moved = credentials.with_token_uri(token_uri)
    moved.expiry = credentials.expiry  # the copy forgets it, and would then look valid
    return moved


def _save_token(credentials: Any, path: Path) -> None:
    atomic_write_text(path, credentials.to_json(), mode=SECRET_FILE_MODE)


class _CredentialsUnpickler(pickle.Unpickler):
    """Accepts only what a pickled ``google.oauth2.credentials.Credentials`` refers to."""

    _PLAIN: ClassVar[frozenset[tuple[str, str]]] = frozenset(
        {
            ("datetime", "datetime"),
            ("datetime", "timedelta"),
            ("datetime", "timezone"),
            ("copyreg", "_reconstructor"),
            ("builtins", "object"),
            ("builtins", "set"),
            ("builtins", "frozenset"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._PLAIN:
            return super().find_class(module, name)
        if module.startswith(("google.oauth2.", "google.auth.")):
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise pickle.UnpicklingError(f"refers to {module}.{name}")


def _migrate_pickle(pickle_path: Path, token_path: Path) -> Any:
    """The original script's token.pickle, once, into token.json; the pickle is kept as it is."""
    from google.oauth2.credentials import Credentials  # noqa: PLC0415

    try:
        credentials = _CredentialsUnpickler(io.BytesIO(pickle_path.read_bytes())).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError) as exc:
        raise GoogleAuthError(
            f"{pickle_path} does not hold Google credentials ({exc}); it was not used: delete "
            "it and run populate_google_sheet.py by hand to authorize again"
        ) from None
    except OSError as exc:
        raise GoogleAuthError(f"cannot read {pickle_path}: {exc.strerror}") from None
    if not isinstance(credentials, Credentials):
        raise GoogleAuthError(
            f"{pickle_path} holds a {type(credentials).__name__}, not Google user credentials; "
            "delete it and run populate_google_sheet.py by hand to authorize again"
        )
    _save_token(credentials, token_path)
    logger.warning(
        "migrated the Google token from %s to %s (mode 0600); %s is no longer read: delete it",
        pickle_path,
        token_path,
        pickle_path.name,
    )
    return credentials


def _timed_request(timeout: float) -> Callable[..., Any]:
    """google-auth's requests transport with our timeout (its own default is 120 s)."""
    from google.auth.transport.requests import Request  # noqa: PLC0415

    request = Request()

    def call(
        url: str, method: str = "GET", body: Any = None, headers: Any = None, **kw: Any
    ) -> Any:
        kw.setdefault("timeout", timeout)
        return request(url, method=method, body=body, headers=headers, **kw)

    return call


def _setup_advice(files: CredentialFiles) -> str:
    if files.client_secrets.exists():
        return (
            f"no Google token yet ({files.token} does not exist): run populate_google_sheet.py "
            "once by hand in a terminal to authorize (it prints an address to open), or set "
            "google_service_account_file for an unattended setup (see README)"
        )
    return (
        f"no Google credentials: put the OAuth client file of a 'Desktop app' at "
        f"{files.client_secrets} and run populate_google_sheet.py by hand once, or set "
        "google_service_account_file to a service account key shared on the spreadsheet "
        "(see README: 'Google Sheet')"
    )
