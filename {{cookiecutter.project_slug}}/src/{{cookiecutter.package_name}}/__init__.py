"""{{ cookiecutter.project_name }}.

The fine-tuning pipeline, one module per DVC stage (see dvc.yaml).
"""
