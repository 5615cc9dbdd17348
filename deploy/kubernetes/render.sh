#!/usr/bin/env bash
# Renders the Helm chart (deploy/helm/orleans-llmrouter) with its default values into the plain manifests of this
# directory. No Helm binary is installable from the registries our CI uses, so the chart is written in a small subset
# of Helm's templates that tests/Orleans.LlmRouter.Deploy.Tests renders (Helm/ChartTemplate.cs); the test
# ChartRenderingTests.CommittedManifestsAreTheRenderedChart fails whenever these files and the chart disagree.
# With Helm at hand, `helm template llmrouter deploy/helm/orleans-llmrouter -n llmrouter` gives the same objects.
set -euo pipefail
cd "$(dirname "$0")/../.."
LLMROUTER_RENDER_MANIFESTS=1 dotnet test tests/Orleans.LlmRouter.Deploy.Tests \
  --filter "FullyQualifiedName~ChartRenderingTests.CommittedManifestsAreTheRenderedChart" --nologo -v q
ls deploy/kubernetes/*.yaml
