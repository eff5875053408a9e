"""`kdoctor up` / `down` / `profiles`: profiles + facts -> a plan -> the provisioner applies it."""
