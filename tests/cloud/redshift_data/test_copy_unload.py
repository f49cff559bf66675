"""COPY from and UNLOAD to the local cloud's S3, executed for real."""

from __future__ import annotations

import bz2
import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq

ROLE = "IAM_ROLE 'arn:aws:iam::123456789012:role/redshift-copy'"


def _parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def test_copy_csv_with_options(rs, aws, bucket):
    body = ("id;name;amount;day;seen\n"
            "1;\"semi;colon\";1.50;05/01/2024;2024-01-05 10:11:12\n"
            "2;NA;;06/01/2024;2024-01-06 00:00:00\n")
    aws("s3").put_object(Bucket=bucket, Key="in/people.csv.gz", Body=gzip.compress(body.encode()))
    rs.run("CREATE TABLE people (id INT, name VARCHAR(20), amount NUMERIC(8,2), day DATE, seen TIMESTAMP)")
    described = rs.run(f"COPY people FROM 's3://{bucket}/in/people.csv.gz' {ROLE} CSV DELIMITER ';' "
                       "IGNOREHEADER 1 NULL AS 'NA' GZIP DATEFORMAT 'DD/MM/YYYY' TIMEFORMAT 'auto' REGION 'us-east-1'")
    assert described["ResultRows"] == 2 and described["HasResultSet"] is False
    assert rs.query("SELECT id, name, amount, day, seen FROM people ORDER BY id") == [
        [1, "semi;colon", "1.50", "2024-01-05", "2024-01-05 10:11:12"],
        [2, None, None, "2024-01-06", "2024-01-06 00:00:00"]]


def test_copy_pipe_delimited_text_and_bzip2_with_credentials(rs, aws, bucket):
    aws("s3").put_object(Bucket=bucket, Key="pipe/a.txt.bz2", Body=bz2.compress(b"1|x\n2|y\n"))
    rs.run("CREATE TABLE piped (n INT, s VARCHAR(5))")
    rs.run(f"COPY piped FROM 's3://{bucket}/pipe/' CREDENTIALS 'aws_access_key_id=AKID;aws_secret_access_key=x' BZIP2")
    assert rs.query("SELECT n, s FROM piped ORDER BY n") == [[1, "x"], [2, "y"]]


def test_copy_prefix_loads_every_object_and_column_list(rs, aws, bucket):
    s3 = aws("s3")
    for n in range(3):
        s3.put_object(Bucket=bucket, Key=f"parts/part-{n}.csv", Body=f"{n},name{n}\n{n + 10},x\n".encode())
    s3.put_object(Bucket=bucket, Key="partsother/zzz.csv", Body=b"99,not-me\n")  # matches the prefix too, as on Redshift
    rs.run("CREATE TABLE loaded (id INT IDENTITY(1,1), n INT, label VARCHAR(10))")
    described = rs.run(f"COPY loaded (n, label) FROM 's3://{bucket}/parts' {ROLE} FORMAT AS CSV")
    assert described["ResultRows"] == 7
    assert rs.scalar("SELECT count(DISTINCT id) FROM loaded") == 7


def test_copy_parquet_by_position(rs, aws, bucket):
    table = pa.table({"a": pa.array([1, 2, 3], pa.int64()), "b": ["x", "y", None],
                      "c": pa.array([1.5, 2.5, 3.5])})
    aws("s3").put_object(Bucket=bucket, Key="pq/file.parquet", Body=_parquet(table))
    rs.run("CREATE TABLE fromparquet (id BIGINT, label VARCHAR(4), value FLOAT8)")
    assert rs.run(f"COPY fromparquet FROM 's3://{bucket}/pq/' {ROLE} FORMAT AS PARQUET")["ResultRows"] == 3
    assert rs.query("SELECT * FROM fromparquet ORDER BY id") == [[1, "x", 1.5], [2, "y", 2.5], [3, None, 3.5]]


def test_copy_json_auto_and_manifest(rs, aws, bucket):
    s3 = aws("s3")
    s3.put_object(Bucket=bucket, Key="js/1.json", Body=b'{"id": 1, "Name": "a", "extra": true}\n{"id": 2}\n')
    s3.put_object(Bucket=bucket, Key="js/2.json", Body=b'{"id": 3, "name": "c"}\n')
    s3.put_object(Bucket=bucket, Key="js/ignored.json", Body=b'{"id": 99}\n')
    manifest = {"entries": [{"url": f"s3://{bucket}/js/1.json", "mandatory": True},
                            {"url": f"s3://{bucket}/js/2.json", "mandatory": True},
                            {"url": f"s3://{bucket}/js/optional-missing.json", "mandatory": False}]}
    s3.put_object(Bucket=bucket, Key="js/load.manifest", Body=json.dumps(manifest).encode())
    rs.run("CREATE TABLE fromjson (id INT, name VARCHAR(5))")
    rs.run(f"COPY fromjson FROM 's3://{bucket}/js/load.manifest' {ROLE} FORMAT AS JSON 'auto ignorecase' MANIFEST")
    assert rs.query("SELECT id, name FROM fromjson ORDER BY id") == [[1, "a"], [2, None], [3, "c"]]


def test_bad_copy_loads_nothing(rs, aws, bucket):
    s3 = aws("s3")
    s3.put_object(Bucket=bucket, Key="bad/1.csv", Body=b"1,ok\n2,fine\n")
    s3.put_object(Bucket=bucket, Key="bad/2.csv", Body=b"3,ok\nnot-a-number,oops\n")
    rs.run("CREATE TABLE strict (n INT, s VARCHAR(10))")
    rs.run("INSERT INTO strict VALUES (0, 'before')")
    error = rs.fail(f"COPY strict FROM 's3://{bucket}/bad/' {ROLE} CSV")
    assert "Load into table 'strict' failed" in error and "stl_load_errors" in error
    assert rs.query("SELECT n, s FROM strict") == [[0, "before"]]
    missing = rs.fail(f"COPY strict FROM 's3://{bucket}/nothing-here/' {ROLE} CSV")
    assert "The specified S3 prefix 'nothing-here/' does not exist" in missing
    no_bucket = rs.fail(f"COPY strict FROM 's3://no-such-bucket-rs/x' {ROLE} CSV")
    assert "The specified bucket does not exist" in no_bucket
    manifest = rs.fail(f"COPY strict FROM 's3://{bucket}/absent.manifest' {ROLE} CSV MANIFEST")
    assert "Problem reading manifest file - S3ServiceException:The specified key does not exist" in manifest
    wrong_table = rs.fail(f"COPY nowhere FROM 's3://{bucket}/bad/1.csv' {ROLE} CSV")
    assert 'relation "nowhere" does not exist' in wrong_table
    assert rs.scalar("SELECT count(*) FROM strict") == 1


def test_unload_parquet_partitioned_and_read_back(rs, aws, bucket):
    rs.run("CREATE TABLE sales AS SELECT i AS id, CASE WHEN i % 3 = 0 THEN 'eu' ELSE 'us' END AS region, "
           "i * 1.5 AS amount FROM range(1000) t(i)")
    described = rs.run(f"UNLOAD ('SELECT id, region, amount FROM sales WHERE region <> ''none''') "
                       f"TO 's3://{bucket}/out/sales_' {ROLE} FORMAT AS PARQUET PARTITION BY (region)")
    assert described["ResultRows"] == 1000
    s3 = aws("s3")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="out/")["Contents"])
    assert keys == ["out/sales_region=eu/0000_part_00.parquet", "out/sales_region=us/0000_part_00.parquet"]
    eu = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()))
    assert eu.num_rows == 334 and eu.column_names == ["id", "amount"]
    # and back in: COPY what UNLOAD wrote
    rs.run("CREATE TABLE sales_back (id BIGINT, amount NUMERIC(12,1))")
    rs.run(f"COPY sales_back FROM 's3://{bucket}/out/sales_region=us/' {ROLE} FORMAT AS PARQUET")
    assert rs.scalar("SELECT count(*) FROM sales_back") == 666


def test_unload_csv_header_overwrite_and_maxfilesize(rs, aws, bucket):
    rs.run("CREATE TABLE small (id INT, name VARCHAR(10))")
    rs.run("INSERT INTO small VALUES (1, 'a,b'), (2, NULL)")
    target = f"s3://{bucket}/csv/small/"
    rs.run(f"UNLOAD ('SELECT * FROM small ORDER BY id') TO '{target}' {ROLE} CSV HEADER")
    s3 = aws("s3")
    body = s3.get_object(Bucket=bucket, Key="csv/small/0000_part_00")["Body"].read().decode()
    assert body.splitlines() == ["id,name", '1,"a,b"', "2,"]
    error = rs.fail(f"UNLOAD ('SELECT * FROM small') TO '{target}' {ROLE} CSV")
    assert "Specified unload destination on S3 is not empty" in error and "ALLOWOVERWRITE" in error
    rs.run(f"UNLOAD ('SELECT * FROM small WHERE id = 1') TO '{target}' {ROLE} CSV ALLOWOVERWRITE "
           "MAXFILESIZE AS 5 MB GZIP")
    assert gzip.decompress(s3.get_object(Bucket=bucket, Key="csv/small/0000_part_00.gz")["Body"].read()) == b'1,"a,b"\n'
    pipe = rs.run(f"UNLOAD ('SELECT * FROM small ORDER BY id') TO 's3://{bucket}/pipe/' {ROLE} MANIFEST")
    assert pipe["ResultRows"] == 2
    assert s3.get_object(Bucket=bucket, Key="pipe/0000_part_00")["Body"].read() == b"1|a,b\n2|\n"
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="pipe/manifest")["Body"].read())
    assert manifest["entries"] == [{"url": f"s3://{bucket}/pipe/0000_part_00"}]
    assert "MAXFILESIZE" in rs.fail(f"UNLOAD ('SELECT 1') TO 's3://{bucket}/x/' {ROLE} MAXFILESIZE 1 MB")
