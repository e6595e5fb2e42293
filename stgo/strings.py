"""stgo's own words on the page, in the App's language (``App(language="de")``).

Only what stgo itself says (the reconnect line, a page refused, the close
and menu buttons...), never the app's own texts.  The page gets its
language's strings as a JSON element (no inline script: the strict CSP
holds), which the client reads once (``static/strings.js``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .errors import ConfigurationError

__all__ = ["LANGUAGES", "strings", "checked_language"]

_EN = {
    "reconnecting": "Reconnecting…",
    "cannot_connect": "Cannot connect to the server. Reload the page to try again later.",
    "session_expired": "Session expired",
    "new_session": "starting a new session…",
    "dismiss": "Dismiss",
    "close": "Close",
    "menu": "Menu",
    "choose": "Choose an option",
    "forbidden_title": "Forbidden",
    "forbidden": "You may not open this page.",
    "not_found_title": "Page not found",
    "not_found": "There is no page at {path}.",
    "go_to_app": "Go to the app",
    "remove": "Remove",
    "uploading": "Uploading…",
    "went_wrong": "Something went wrong (error {id})",
}

_CATALOGUE = {
    "en": _EN,
    "de": {
        "reconnecting": "Verbindung wird wiederhergestellt…",
        "cannot_connect": "Keine Verbindung zum Server. Laden Sie die Seite später neu.",
        "session_expired": "Sitzung abgelaufen",
        "new_session": "eine neue Sitzung beginnt…",
        "dismiss": "Ausblenden",
        "close": "Schließen",
        "menu": "Menü",
        "choose": "Bitte wählen",
        "forbidden_title": "Kein Zugriff",
        "forbidden": "Sie dürfen diese Seite nicht öffnen.",
        "not_found_title": "Seite nicht gefunden",
        "not_found": "Unter {path} gibt es keine Seite.",
        "go_to_app": "Zur App",
        "remove": "Entfernen",
        "uploading": "Wird hochgeladen…",
        "went_wrong": "Etwas ist schiefgegangen (Fehler {id})",
    },
    "fr": {
        "reconnecting": "Reconnexion…",
        "cannot_connect": "Impossible de joindre le serveur. Rechargez la page plus tard.",
        "session_expired": "Session expirée",
        "new_session": "nouvelle session…",
        "dismiss": "Masquer",
        "close": "Fermer",
        "menu": "Menu",
        "choose": "Choisissez une option",
        "forbidden_title": "Accès refusé",
        "forbidden": "Vous ne pouvez pas ouvrir cette page.",
        "not_found_title": "Page introuvable",
        "not_found": "Il n’y a pas de page à {path}.",
        "go_to_app": "Aller à l’application",
        "remove": "Retirer",
        "uploading": "Envoi…",
        "went_wrong": "Une erreur s’est produite (erreur {id})",
    },
    "es": {
        "reconnecting": "Reconectando…",
        "cannot_connect": "No se puede conectar con el servidor. Recargue la página más tarde.",
        "session_expired": "Sesión caducada",
        "new_session": "iniciando una sesión nueva…",
        "dismiss": "Descartar",
        "close": "Cerrar",
        "menu": "Menú",
        "choose": "Elija una opción",
        "forbidden_title": "Prohibido",
        "forbidden": "No puede abrir esta página.",
        "not_found_title": "Página no encontrada",
        "not_found": "No hay ninguna página en {path}.",
        "go_to_app": "Ir a la aplicación",
        "remove": "Quitar",
        "uploading": "Subiendo…",
        "went_wrong": "Algo salió mal (error {id})",
    },
    "zh": {
        "reconnecting": "正在重新连接…",
        "cannot_connect": "无法连接服务器。请稍后重新加载页面。",
        "session_expired": "会话已过期",
        "new_session": "正在开始新会话…",
        "dismiss": "关闭提示",
        "close": "关闭",
        "menu": "菜单",
        "choose": "请选择",
        "forbidden_title": "禁止访问",
        "forbidden": "您不能打开此页面。",
        "not_found_title": "页面不存在",
        "not_found": "{path} 没有页面。",
        "go_to_app": "前往应用",
        "remove": "移除",
        "uploading": "正在上传…",
        "went_wrong": "出错了（错误 {id}）",
    },
}

#: The languages stgo speaks (``App(language=...)``).
LANGUAGES = tuple(_CATALOGUE)


def checked_language(language: object) -> str:
    """*language* if stgo has its strings.

    :raises ConfigurationError: an unknown language (the known ones are named).
    """
    if not isinstance(language, str) or language not in _CATALOGUE:
        raise ConfigurationError(
            f"language must be one of {list(LANGUAGES)}, got {language!r}")
    return language


def strings(language: str) -> Mapping[str, str]:
    """stgo's strings in *language* (English where one is missing), read-only."""
    return MappingProxyType({**_EN, **_CATALOGUE.get(language, {})})
