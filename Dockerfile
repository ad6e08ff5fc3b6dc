FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ITSM_VAR_DIR=/var/lib/itsm DJANGO_STATIC_ROOT=/app/staticfiles
WORKDIR /app
COPY pyproject.toml README.md ./
COPY . .
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/itsm itsm \
    && mkdir -p /var/lib/itsm && chown itsm /var/lib/itsm \
    && DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput
USER itsm
EXPOSE 8000
CMD ["gunicorn", "itsm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
