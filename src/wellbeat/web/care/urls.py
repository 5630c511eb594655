"""Care pages under /care/ and the HSDS 3.0 read API under /hsds/ (included at the site root)."""

from django.urls import URLPattern, URLResolver, path

from wellbeat.web.care import hsds_api, views

app_name = "care"

urlpatterns: list[URLPattern | URLResolver] = [
    path("care/", views.home, name="home"),
    path("care/encounters/", views.encounter_list, name="encounters"),
    path("care/encounters/new/", views.encounter_new, name="encounter_new"),
    path("care/encounters/<uuid:public_id>/refer/", views.encounter_refer, name="encounter_refer"),
    path("care/referrals/mine/", views.my_referrals, name="my_referrals"),
    path("care/referrals/<uuid:public_id>/", views.referral_detail, name="referral"),
    path("care/referrals/<uuid:public_id>/status/", views.referral_status, name="referral_status"),
    path("care/provider/", views.provider_queue, name="provider_queue"),
    path("care/provider/unlock/", views.contact_unlock, name="contact_unlock"),
    path("care/provider/lock/", views.contact_lock, name="contact_lock"),
    path("care/keys/", views.contact_keys, name="contact_keys"),
    path("care/coordinator/", views.coordinator_queue, name="coordinator"),
    path("care/followups/<int:pk>/resolve/", views.followup_resolve, name="followup_resolve"),
    path("care/co-responder/", views.coresponder, name="coresponder"),
    path("care/measures/", views.measures, name="measures"),
    path("care/directory/", views.directory, name="directory"),
    path("care/directory/<str:service_id>/edit/", views.service_edit, name="service_edit"),
    path("care/triage/", views.triage_new, name="triage"),
    path("care/triage/<uuid:public_id>/", views.triage_call, name="triage_call"),
    path("hsds/", hsds_api.root, name="hsds_root"),
    path("hsds/openapi.json", hsds_api.openapi, name="hsds_openapi"),
    path("hsds/services", hsds_api.services, name="hsds_services"),
    path("hsds/services/<str:service_id>", hsds_api.service, name="hsds_service"),
]
