from django.urls import path

from wellbeat.web.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_password, name="login"),
    path("login/verify/", views.login_verify, name="login_verify"),
    path("login/enrol/", views.login_enrol, name="login_enrol"),
    path("logout/", views.logout_view, name="logout"),
    path("invitation/<str:token>/", views.accept_invitation, name="invitation"),
    path("agency/users/", views.agency_users, name="agency_users"),
    path("agency/users/new/", views.user_create, name="user_create"),
    path("agency/users/<int:user_id>/", views.user_detail, name="user_detail"),
    path("agency/tokens/", views.agency_tokens, name="agency_tokens"),
]
