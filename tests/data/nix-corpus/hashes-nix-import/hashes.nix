{
  "1.44.7" = "sha256-0QaL7rlqanmTdmHVzJ8pDd2qVzDmS3qysjgHihGUxhQ=";
}
