from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MesConfig(AppConfig):
    name = "mes"
    verbose_name = _("Production")

    def ready(self) -> None:
        # The core's signal wiring, in one place. What the apps contribute (events,
        # subscribers, notifications, roles) is found by the project package (andon.discovery).
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_out
        from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save
        from guardian.models import GroupObjectPermission, UserObjectPermission
        from simple_history.signals import pre_create_historical_record

        from mes.signals import (
            ensure_roles,
            recheck_sockets_of_changed_roles,
            recheck_sockets_of_site_grants,
            revoke_inactive_sessions,
            revoke_signed_out_sockets,
            stamp_request_id,
        )

        pre_create_historical_record.connect(stamp_request_id, dispatch_uid="andon_request_id")
        post_migrate.connect(ensure_roles, sender=self, dispatch_uid="andon_roles")
        from mes.audit.chain import install as install_audit_chains

        post_migrate.connect(install_audit_chains, sender=self, dispatch_uid="andon_audit")
        post_save.connect(
            revoke_inactive_sessions, sender=get_user_model(), dispatch_uid="andon_revoke_ws"
        )
        user_logged_out.connect(revoke_signed_out_sockets, dispatch_uid="andon_logout_ws")
        from django.contrib.auth.models import Group, Permission

        from mes import config_cache
        from mes.models import NonWorkingDay, Site, WorkingCalendar

        user_model = get_user_model()
        config_cache.watch(
            Site,
            WorkingCalendar,
            NonWorkingDay,
            Group,
            Permission,
            user_model.groups.through,
            user_model.user_permissions.through,
            UserObjectPermission,
            GroupObjectPermission,
        )
        from celery.signals import task_postrun, task_prerun

        task_prerun.connect(config_cache.enter_task, dispatch_uid="andon_config_task")
        task_postrun.connect(config_cache.leave_task, dispatch_uid="andon_config_task_end")
        for grants in (UserObjectPermission, GroupObjectPermission):
            for signal in (post_save, post_delete):
                signal.connect(
                    recheck_sockets_of_site_grants,
                    sender=grants,
                    dispatch_uid=f"andon_grants_{grants}_{signal}",
                )
        m2m_changed.connect(
            recheck_sockets_of_changed_roles,
            sender=user_model.groups.through,
            dispatch_uid="andon_roles_ws",
        )
