from django.urls import path

from . import views

urlpatterns = [
    path("", views.my_courses, name="my-courses"),
    path("courses/new/", views.course_author, name="course-new"),
    path("courses/<int:pk>/", views.course_detail, name="course-detail"),
    path("courses/<int:pk>/edit/", views.course_author, name="course-edit"),
    path("courses/<int:pk>/preview/", views.course_preview, name="course-preview"),
    path("courses/<int:pk>/publish/", views.course_publish, name="course-publish"),
    path("files/<int:pk>/", views.course_file, name="course-file"),
    path("certificates/<int:pk>/", views.certificate, name="course-certificate"),
    path("status/", views.completion, name="course-completion"),
]
