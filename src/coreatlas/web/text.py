"""Every string of the interface, per language, in one place.

Pages take their words from :data:`TEXTS` only (templates read ``t.key``), so the message
catalogs of issue 14 (Babel/gettext) can replace this table without touching the templates.
The language is the ``lang`` query parameter when it names one of :data:`LANGUAGES`, else the
best of ``Accept-Language``, else English.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "TEXTS", "pick_language", "texts"]

DEFAULT_LANGUAGE = "en"

_EN = {
    "app_name": "CoRe Atlas",
    "skip_to_content": "Skip to content",
    "language": "Language",
    "sign_in": "Sign in",
    "sign_in_title": "Sign in to CoRe Atlas",
    "sign_in_intro": "Sign in with your user name and password, or with an API token.",
    "user": "User name",
    "password": "Password",
    "token": "API token",
    "sign_in_with_token": "Sign in with a token",
    "sign_in_failed": "Sign-in failed: wrong user name, password or token.",
    "sign_out": "Sign out",
    "signed_in_as": "Signed in as",
    "workspaces": "Workspaces",
    "workspace": "Workspace",
    "no_workspaces": "You do not see any workspace yet. Ask an owner to share one with your organisation.",
    "owner_org": "Owned by",
    "shared_with": "Shared with",
    "role": "Your role",
    "role_viewer": "viewer",
    "role_editor": "editor",
    "role_owner": "owner",
    "description": "Description",
    "datasets": "Datasets",
    "dataset": "Dataset",
    "kind": "Kind",
    "version": "Version",
    "open_map": "Open the map",
    "map": "Map",
    "map_of": "Map of",
    "map_label": "The supply chain in stage columns, inputs on the left, outputs on the right",
    "stage_output": "Output",
    "stage_none": "Other",
    "nodes_count": "nodes",
    "legend": "Legend",
    "kind_output": "output",
    "kind_process": "process",
    "kind_design": "design resource",
    "kind_material": "material",
    "kind_tool": "tool",
    "kind_component": "component",
    "kind_other": "other",
    "selected_node": "Selected node",
    "none_selected": "Select a node on the map.",
    "node_list": "Nodes by stage",
    "not_found_title": "Not found",
    "not_found": "This page does not exist, or you are not allowed to see it.",
    "forbidden_title": "Not allowed",
    "forbidden": "Your role does not allow this.",
    "error_title": "Something went wrong",
    "back_home": "Back to the workspaces",
    "no_script": "The map needs JavaScript; the list of nodes below works without it.",
}

_JA = {
    "app_name": "CoRe Atlas",
    "skip_to_content": "本文へ移動",
    "language": "言語",
    "sign_in": "サインイン",
    "sign_in_title": "CoRe Atlas にサインイン",
    "sign_in_intro": "ユーザー名とパスワード、または API トークンでサインインしてください。",
    "user": "ユーザー名",
    "password": "パスワード",
    "token": "API トークン",
    "sign_in_with_token": "トークンでサインイン",
    "sign_in_failed": "サインインできませんでした。ユーザー名、パスワードまたはトークンが正しくありません。",
    "sign_out": "サインアウト",
    "signed_in_as": "サインイン中のユーザー",
    "workspaces": "ワークスペース",
    "workspace": "ワークスペース",
    "no_workspaces": "表示できるワークスペースはまだありません。所有者に、あなたの組織との共有を依頼してください。",
    "owner_org": "所有組織",
    "shared_with": "共有先",
    "role": "あなたの権限",
    "role_viewer": "閲覧者",
    "role_editor": "編集者",
    "role_owner": "所有者",
    "description": "説明",
    "datasets": "データセット",
    "dataset": "データセット",
    "kind": "種類",
    "version": "バージョン",
    "open_map": "マップを開く",
    "map": "マップ",
    "map_of": "マップ：",
    "map_label": "工程ごとの列で表したサプライチェーン（左が投入物、右が最終製品）",
    "stage_output": "最終製品",
    "stage_none": "その他",
    "nodes_count": "ノード",
    "legend": "凡例",
    "kind_output": "最終製品",
    "kind_process": "工程",
    "kind_design": "設計資源",
    "kind_material": "材料",
    "kind_tool": "装置",
    "kind_component": "部品",
    "kind_other": "その他",
    "selected_node": "選択中のノード",
    "none_selected": "マップ上のノードを選択してください。",
    "node_list": "工程別のノード",
    "not_found_title": "見つかりません",
    "not_found": "このページは存在しないか、閲覧する権限がありません。",
    "forbidden_title": "許可されていません",
    "forbidden": "あなたの権限ではこの操作はできません。",
    "error_title": "エラーが発生しました",
    "back_home": "ワークスペース一覧へ戻る",
    "no_script": "マップの表示には JavaScript が必要です。下のノード一覧は JavaScript なしでも使えます。",
}

TEXTS = MappingProxyType({"en": MappingProxyType(_EN), "ja": MappingProxyType(_JA)})
LANGUAGES = tuple(TEXTS)


def pick_language(query: str | None, accept_language: str | None) -> str:
    """``query`` if it is a known language, else the best known one of an ``Accept-Language``
    header (``ja-JP,ja;q=0.9,en;q=0.8``), else :data:`DEFAULT_LANGUAGE`."""
    if query in TEXTS:
        return query
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for part in (accept_language or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if lang in TEXTS and q > best_q and q > 0:
            best, best_q = lang, q  # equal weights: the first listed wins (strict >)
    return best


def texts(lang: str) -> MappingProxyType:
    return TEXTS.get(lang, TEXTS[DEFAULT_LANGUAGE])
