FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/nigran.db

RUN useradd --create-home --uid 10001 nigran && mkdir /data && chown nigran /data
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY policy_data ./policy_data
RUN pip install --no-cache-dir .

USER nigran
EXPOSE 8000
# Migrate, load the data set (idempotent), then serve.
CMD ["sh", "-c", "nigran db upgrade && nigran seed && exec uvicorn app.main:app --host 0.0.0.0 --port 8000 --proxy-headers"]
