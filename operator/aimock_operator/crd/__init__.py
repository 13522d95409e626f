"""The custom resources: pydantic models (v1alpha1.py), their OpenAPI schemas, generation."""
