"""Help centre and contact page. Included from the root URLconf before the portal."""

from django.urls import path

from esimdesk.support import help_views

app_name = "help"

urlpatterns = [
    path("help/", help_views.help_index, name="index"),
    # Before the article pattern: "search" is not a slug an article may have.
    path("help/search/", help_views.help_search, name="search"),
    path("help/<slug:slug>/", help_views.help_article, name="article"),
    path("contact/", help_views.contact, name="contact"),
]
