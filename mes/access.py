"""Site-scoped access: which sites a user may see (:mod:`mes.models.access`, where the
querysets' ``visible_to`` reads it), and granting or revoking a site."""

from mes.models.access import (
    SITE_ACCESS_PERM,
    can_access_site,
    forget_site_cache,
    grant_site_access,
    revoke_site_access,
    sees_every_site,
    users_visible_to,
    visible_site_ids,
)

__all__ = [
    "SITE_ACCESS_PERM",
    "can_access_site",
    "forget_site_cache",
    "grant_site_access",
    "revoke_site_access",
    "sees_every_site",
    "users_visible_to",
    "visible_site_ids",
]
