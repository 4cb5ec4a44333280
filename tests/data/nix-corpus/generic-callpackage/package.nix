{ callPackage, ... }@args:

callPackage ./generic.nix (args // {
  version = "16.6";
  hash = "sha256-8oqrZOxxLwxletIfqsiamKVlf4Hei9kzNtTC7ht5XIk=";
})
