# The image every CDOP Airflow container runs (docker-compose.yaml builds it).
# Airflow's official image, plus the runtime lock (requirements.txt, every package pinned
# by version and hash; never the development tools of requirements-dev.txt) and the `cdop`
# package, so the `cdop` command and `include/` are importable in every container. Compose
# also mounts ./include, ./dags and ./plugins over these copies, so an edit needs no rebuild.
FROM apache/airflow:3.3.2-python3.11

USER airflow
WORKDIR /opt/cdop
COPY --chown=airflow:0 requirements.txt /opt/cdop/requirements.txt
# The lock holds every package (pip-compile resolved them): --no-deps, as pip's hash mode
# refuses a dependency that asks for an extra (celery[redis]) even when it is locked.
RUN pip install --no-cache-dir --require-hashes --no-deps -r /opt/cdop/requirements.txt
COPY --chown=airflow:0 pyproject.toml /opt/cdop/pyproject.toml
COPY --chown=airflow:0 include /opt/cdop/include
COPY --chown=airflow:0 dags /opt/cdop/dags
COPY --chown=airflow:0 plugins /opt/cdop/plugins
RUN pip install --no-cache-dir --no-deps -e /opt/cdop
# The gate's name and word lists (names-dataset, pyspellchecker) read once into their
# compact caches at build time, so no container pays the ~1 GB, tens-of-seconds read on
# its first check.
RUN python -c "from cdop.confidentiality.layers.name_lists import build_cache; build_cache()" \
 && python -c "from cdop.confidentiality import words; words.given_names(); words.english_words()"

ENV PYTHONPATH=/opt/cdop/include \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/cdop/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/cdop/plugins \
    CDOP_HOME=/opt/cdop/var
