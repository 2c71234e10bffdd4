module golem

go 1.26
