"""The ``users`` table: the custom user model, keyed by the Supabase auth user id."""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models

from escrow.models.fields import TimestampedModel, uuid_pk


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **fields) -> "User":
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        fields.setdefault("is_verified", True)
        if not (fields["is_staff"] and fields["is_superuser"]):
            raise ValueError("A superuser must have is_staff and is_superuser set.")
        return self._create_user(email, password, **fields)

    def get_by_natural_key(self, username: str) -> "User":
        # E-mail is the login name, stored lower-case.
        return self.get(email=username.strip().lower())


class User(AbstractBaseUser, PermissionsMixin, TimestampedModel):
    """A buyer, a seller or an operator. ``id`` equals Supabase's ``auth.uid()`` for that user."""

    id = uuid_pk()
    # Stored lower-case (a CHECK in migration 0002), so this index makes it unique whatever the case.
    email = models.EmailField(max_length=255, unique=True)
    # Django's password hash, kept in the old table's column name.
    password = models.CharField(max_length=128, db_column="hashed_password")
    full_name = models.CharField(max_length=255, blank=True, default="", db_default="")
    phone_number = models.CharField(max_length=32, blank=True, null=True)
    is_active = models.BooleanField(default=True, db_default=True)
    is_verified = models.BooleanField(default=False, db_default=False)
    is_staff = models.BooleanField(default=False, db_default=False)
    is_superuser = models.BooleanField(default=False, db_default=False)
    avatar_url = models.URLField(max_length=500, blank=True, null=True)
    bio = models.TextField(blank=True, null=True)
    # E-mails that are not essential (docs/notifications.md): the user's to turn off, their own row only.
    notify_optional = models.BooleanField(default=True, db_default=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        db_table = "users"
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()
