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

from ..storage import SECRET_FILE_MODE, atomic_write_text
from .transport import (
    GoogleAuthError,
    GoogleAuthSetupError,
    error_detail,
    refresh_failure,
)

logger = logging.getLogger(__name__)

SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
LEGACY_PICKLE_FILE = "token.pickle"
DEFAULT_OAUTH_PORT = 8080
AUTHORIZATION_WAIT_S = 600

ShowUrl = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class CredentialFiles:
    """Where each kind of credential lives, resolved against the config's folder."""

    service_account: Path | None
    token: Path
    legacy_pickle: Path
    client_secrets: Path


@dataclass(frozen=True, slots=True)
class GoogleAccess:
    """What reaching Google takes, as the settings say: the files, the endpoint, the port."""

    files: CredentialFiles
    config_path: Path  # named in the messages that ask for a fix there
    timeout: float = 30.0
    token_uri: str | None = None
    oauth_port: int = DEFAULT_OAUTH_PORT


def load_credentials(access: GoogleAccess, *, show_authorization_url: ShowUrl | None = None) -> Any:
    """Usable credentials, refreshed if needed; ``GoogleAuthError`` says what to do if not."""
    files = access.files
    if files.service_account is not None:
        return _service_account(access, files.service_account)
    if files.token.exists():
        credentials = _read_token_file(files.token)
    elif files.legacy_pickle.exists():
        credentials = _migrate_pickle(files.legacy_pickle, files.token)
    elif files.client_secrets.exists() and show_authorization_url is not None:
        credentials = authorize(access, show_authorization_url)
        _save_token(credentials, files.token)
        return credentials
    else:
        raise _setup_needed(files)
    credentials = _with_token_uri(credentials, access.token_uri)
    if not credentials.valid:
        refresh_and_save(credentials, files.token, timeout=access.timeout)
    return credentials


def refresh_and_save(credentials: Any, token_file: Path, *, timeout: float) -> None:
    """Refresh an authorized-user credential and save it at once (atomically, 0600)."""
    from google.auth.exceptions import RefreshError, TransportError  # noqa: PLC0415

    if not credentials.refresh_token:
        raise GoogleAuthError(
            f"{token_file} has no refresh token",
            hint="delete it and run populate_google_sheet.py by hand to authorize again",
        )
    try:
        credentials.refresh(_timed_request(timeout))
    except RefreshError as exc:
        raise refresh_failure(exc) from None
    except TransportError as exc:
        raise GoogleAuthError(
            f"cannot reach Google's token endpoint: {error_detail(str(exc))}"
        ) from None
    _save_token(credentials, token_file)
    logger.info("refreshed the Google access token (saved to %s)", token_file)


def authorize(access: GoogleAccess, show_url: ShowUrl) -> Any:
    """The first authorization: a local-server flow whose address the caller shows the user."""
    from google_auth_oauthlib.flow import InstalledAppFlow  # noqa: PLC0415

    files, port = access.files, access.oauth_port
    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(files.client_secrets), SCOPES)
    except (ValueError, OSError) as exc:
        raise GoogleAuthSetupError(
            f"{files.client_secrets} is not an OAuth client file of type 'Desktop app' ({exc})",
            hint="download it again from the Google Cloud console",
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
            f"cannot listen on localhost:{port} for Google's answer ({exc.strerror or exc})",
            hint="set google_oauth_port in the config to a free port",
        ) from None
    except Exception as exc:  # oauthlib's and the flow's own errors, e.g. a timeout
        raise GoogleAuthError(
            f"the Google authorization did not complete: {type(exc).__name__}: "
            f"{error_detail(str(exc))}"
        ) from None
    logger.info("authorized Google Sheets access; the token is saved in %s", files.token)
    return credentials


# ----- the kinds of credential ----------------------------------------------------------------


def _service_account(access: GoogleAccess, path: Path) -> Any:
    from google.oauth2 import service_account  # noqa: PLC0415

    if not path.exists():
        raise GoogleAuthSetupError(
            f"google_service_account_file {path} does not exist",
            hint=f"fix the path in {access.config_path}",
        )
    try:
        credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(path), scopes=SCOPES
        )
    except (ValueError, KeyError, OSError) as exc:
        raise GoogleAuthSetupError(
            f"{path} is not a service account key file ({type(exc).__name__})",
            hint="download a JSON key for the service account again",
        ) from None
    token_uri = access.token_uri
    return credentials.with_token_uri(token_uri) if token_uri else credentials


def _read_token_file(path: Path) -> Any:
    from google.oauth2.credentials import Credentials  # noqa: PLC0415

    try:
        return Credentials.from_authorized_user_file(str(path), SCOPES)  # type: ignore[no-untyped-call]
    except (ValueError, KeyError, OSError) as exc:
        # Left untouched: the user decides whether to restore or delete it.
        raise GoogleAuthError(
            f"{path} is not a usable Google token file ({type(exc).__name__}); it was left "
            "untouched",
            hint="delete it and run populate_google_sheet.py by hand to authorize again",
        ) from None


def _with_token_uri(credentials: Any, token_uri: str | None) -> Any:
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
            f"{pickle_path} does not hold Google credentials ({exc}); it was not used",
            hint="delete it and run populate_google_sheet.py by hand to authorize again",
        ) from None
    except OSError as exc:
        raise GoogleAuthError(f"cannot read {pickle_path}: {exc.strerror}") from None
    if not isinstance(credentials, Credentials):
        raise GoogleAuthError(
            f"{pickle_path} holds a {type(credentials).__name__}, not Google user credentials",
            hint="delete it and run populate_google_sheet.py by hand to authorize again",
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


def _setup_needed(files: CredentialFiles) -> GoogleAuthSetupError:
    if files.client_secrets.exists():
        return GoogleAuthSetupError(
            f"no Google token yet ({files.token} does not exist)",
            hint="run populate_google_sheet.py once by hand in a terminal to authorize (it "
            "prints an address to open), or set google_service_account_file for an unattended "
            "setup (see README)",
        )
    return GoogleAuthSetupError(
        "no Google credentials",
        hint=f"put the OAuth client file of a 'Desktop app' at {files.client_secrets} and run "
        "populate_google_sheet.py by hand once, or set google_service_account_file to a "
        "service account key shared on the spreadsheet (see README: 'Connect your Google Sheet')",
    )
